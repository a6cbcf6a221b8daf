"""The AMI adapter: a small asyncio AMI client and the telephony port implemented over it."""

from gateway.ami.client import (
    AmiActionTimeout,
    AmiClient,
    AmiDisconnected,
    AmiError,
    AmiNotConnected,
    AmiState,
)
from gateway.ami.protocol import AmiParser, Message, UnsafeAction, UnsafeHeaderValue, encode_action
from gateway.ami.telephony import AmiTelephony

__all__ = [
    "AmiActionTimeout",
    "AmiClient",
    "AmiDisconnected",
    "AmiError",
    "AmiNotConnected",
    "AmiParser",
    "AmiState",
    "AmiTelephony",
    "Message",
    "UnsafeAction",
    "UnsafeHeaderValue",
    "encode_action",
]
