DROP INDEX outbox_due_idx;
CREATE INDEX outbox_unrelayed_idx ON outbox (id) WHERE relayed_at IS NULL;
ALTER TABLE outbox
    DROP COLUMN relay_after,
    DROP COLUMN attempts,
    DROP COLUMN last_error,
    DROP COLUMN dead_at;
