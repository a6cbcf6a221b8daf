#!/usr/bin/env bash
# Makes the far end's greetings (tests/sandbox/greetings.txt) into 8 kHz mono u-law WAV
# files that SIPp streams over RTP: person-NN.wav and machine-NN.wav in OUT_DIR. Needs
# espeak-ng and sox.
#
# Usage: tests/sandbox/greetings.sh OUT_DIR
#
# The files are made in a temporary folder beside OUT_DIR and moved into place whole, with
# OUT_DIR/.complete holding the hash of greetings.txt and of this script: a run with the
# same hash does nothing, so scripts/sandbox calls it at every build and start.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TABLE="$HERE/greetings.txt"
OUT=${1:?usage: greetings.sh OUT_DIR}
OUT=${OUT%/}
RATE=8000

die() { printf 'greetings: error: %s\n' "$*" >&2; exit 1; }

command -v espeak-ng >/dev/null || die "espeak-ng is not installed"
command -v sox >/dev/null || die "sox is not installed"

hash=$(cat "$TABLE" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)
if [[ -f $OUT/.complete && $(<"$OUT/.complete") == "$hash" ]]; then
    exit 0
fi

mkdir -p "$(dirname "$OUT")"
work=$(mktemp -d "$OUT.new.XXXXXX")
trap 'rm -rf "$work"' EXIT
scratch="$work/.scratch"
mkdir "$scratch"

# 16-bit linear at 8 kHz until the last step; u-law only for the file SIPp sends.
LINEAR=(-r "$RATE" -c 1 -b 16 -e signed-integer)
silence() { sox -n "${LINEAR[@]}" "$2" trim 0 "$1"; }

count=0
while read -r kind id voice wpm pitch lead noise beep text; do
    [[ -z $kind || $kind == \#* ]] && continue
    [[ $kind == person || $kind == machine ]] || die "greetings.txt: unknown kind '$kind'"
    [[ $id =~ ^[0-9][0-9]$ ]] || die "greetings.txt: id '$id' is not two digits"
    [[ -n $text ]] || die "greetings.txt: $kind $id has no text"
    name="$kind-$id"
    [[ ! -e $work/$name.wav ]] || die "greetings.txt: $name appears twice"

    espeak-ng -v "$voice" -s "$wpm" -p "$pitch" -w "$scratch/speech.wav" -- "$text"
    sox -V1 "$scratch/speech.wav" "${LINEAR[@]}" "$scratch/speech8.wav" gain -3
    silence "$(awk -v ms="$lead" 'BEGIN { printf "%.3f", ms / 1000 }')" "$scratch/lead.wav"
    parts=("$scratch/lead.wav" "$scratch/speech8.wav")
    if [[ $kind == machine ]]; then
        # The recording's beep, after a short pause, then the silence of the recording.
        silence 0.4 "$scratch/gap.wav"
        if [[ $beep != - ]]; then
            sox -n "${LINEAR[@]}" "$scratch/beep.wav" synth 0.6 sine "$beep" vol 0.5
            parts+=("$scratch/gap.wav" "$scratch/beep.wav")
        fi
        silence 3 "$scratch/tail.wav"
    else
        # A person said hello and waits: silence, which is what AMD listens for.
        silence 5 "$scratch/tail.wav"
    fi
    parts+=("$scratch/tail.wav")
    sox "${parts[@]}" "${LINEAR[@]}" "$scratch/clean.wav"
    if [[ $noise != - ]]; then
        # Line noise under the whole call (below AMD's silence threshold, but not zero).
        length=$(soxi -D "$scratch/clean.wav")
        sox -n "${LINEAR[@]}" "$scratch/noise.wav" synth "$length" whitenoise gain "$noise"
        sox -m "$scratch/clean.wav" "$scratch/noise.wav" "${LINEAR[@]}" "$scratch/mixed.wav"
        mv "$scratch/mixed.wav" "$scratch/clean.wav"
    fi
    sox "$scratch/clean.wav" -r "$RATE" -c 1 -e u-law "$work/$name.wav"
    count=$((count + 1))
done <"$TABLE"
((count > 0)) || die "greetings.txt has no greeting"

rm -rf "$scratch"
printf '%s\n' "$hash" >"$work/.complete"
rm -rf "$OUT.old"
[[ -e $OUT ]] && mv "$OUT" "$OUT.old"
mv "$work" "$OUT"
rm -rf "$OUT.old"
trap - EXIT
printf 'greetings: %d greetings in %s\n' "$count" "$OUT" >&2
