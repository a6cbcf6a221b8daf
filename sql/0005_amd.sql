-- Answering-machine detection: a campaign's policy, and each call's verdict.

-- amd: 1 when the campaign's calls go through the gateway-amd context (AMD()).
-- machine_agent_id: the configured agent that takes calls answered by a machine; NULL:
-- a machine is hung up on.
ALTER TABLE campaigns ADD COLUMN amd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN machine_agent_id TEXT;
-- Answered calls whose answered_by is known, and those of them answered by a machine
-- (the SSE metrics' machine_rate).
ALTER TABLE campaigns ADD COLUMN n_amd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN n_machine INTEGER NOT NULL DEFAULT 0;
-- answered_by: human, machine or unknown (AMDSTATUS HUMAN, MACHINE, NOTSURE/HANGUP);
-- NULL when AMD was off or the call was not answered. amd_cause: AMDCAUSE as Asterisk
-- wrote it (e.g. HUMAN-800-800, LONGGREETING-1500-1500).
ALTER TABLE attempts ADD COLUMN answered_by TEXT;
ALTER TABLE attempts ADD COLUMN amd_cause TEXT;
ALTER TABLE contacts ADD COLUMN answered_by TEXT;
ALTER TABLE contacts ADD COLUMN amd_cause TEXT;
