-- The outbox keeps an event until a worker has handled it, not merely relayed it: the Redis stream is
-- only its transport, and an event Redis lost (say in the second before its fsync) is relayed again
-- once `relay_after` passes. A handling that fails is retried with a growing pause (`attempts`,
-- `last_error`) and, after too many, the event is dead (`dead_at`) and kept here for an operator.
ALTER TABLE outbox
    ADD COLUMN relay_after timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN last_error text,
    ADD COLUMN dead_at timestamptz;

-- Events relayed under the old rule were handled long ago, or are retried from the stream still.
DELETE FROM outbox WHERE relayed_at < now() - interval '1 hour';
UPDATE outbox SET relay_after = relayed_at + interval '10 minutes' WHERE relayed_at IS NOT NULL;

DROP INDEX outbox_unrelayed_idx;
CREATE INDEX outbox_due_idx ON outbox (relay_after) WHERE dead_at IS NULL;
