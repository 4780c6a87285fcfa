-- The enum keeps its two values (PostgreSQL cannot drop them); no row uses them afterwards.
DELETE FROM orders WHERE status::text IN ('pending_payment', 'payment_failed');
DROP INDEX orders_payment_due_idx;
DROP INDEX orders_checkout_key_idx;
ALTER TABLE orders
    DROP CONSTRAINT orders_payment_check,
    ADD CONSTRAINT orders_checkout_owner_idempotency_key_key UNIQUE (checkout_owner, idempotency_key),
    DROP COLUMN payment_failure,
    DROP COLUMN payment_due_by,
    DROP COLUMN payment_token,
    ALTER COLUMN payment_authorization SET NOT NULL;
