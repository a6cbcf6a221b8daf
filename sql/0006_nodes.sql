-- A pool of Asterisk nodes: the node each attempt was sent to.

-- node: the id of the configured Asterisk node ([[asterisk_nodes]], or "default" for the
-- one-node [ami] shorthand) that the Originate went to. NULL for attempts made before
-- this migration: they belong to the first configured node (gateway.dialer.nodes).
ALTER TABLE attempts ADD COLUMN node TEXT;
-- The node of the contact's latest attempt (contact JSON `node`).
ALTER TABLE contacts ADD COLUMN node TEXT;
-- Reconciliation reads the attempts not ended, per node.
CREATE INDEX attempts_open_by_node ON attempts (node) WHERE status != 'ended';
