-- Checkout as a saga: a short transaction reserves the stock and records the order as
-- `pending_payment`; the payment provider is asked outside any transaction; a second short transaction
-- records the outcome: `placed`, or `payment_failed` with the stock returned. A failed attempt is kept
-- for staff and frees its idempotency key, so the shopper may try again with another card.
--
-- The new values are not used as enum literals below: PostgreSQL refuses that in the transaction that
-- adds them.
ALTER TYPE order_status ADD VALUE 'pending_payment' BEFORE 'placed';
ALTER TYPE order_status ADD VALUE 'payment_failed' AFTER 'pending_payment';

ALTER TABLE orders
    -- Known once the provider has authorised.
    ALTER COLUMN payment_authorization DROP NOT NULL,
    -- What the shopper paid with (the provider's token, never card data), until the outcome is known:
    -- asking the provider again with the order's key needs it.
    ADD COLUMN payment_token text,
    -- While pending: until when the checkout, or a reconciler, that asked the provider is deciding;
    -- then a reconciler takes over. The order's stock stays reserved meanwhile.
    ADD COLUMN payment_due_by timestamptz,
    ADD COLUMN payment_failure text CHECK (payment_failure IN ('declined', 'unavailable')),
    DROP CONSTRAINT orders_checkout_owner_idempotency_key_key,
    ADD CONSTRAINT orders_payment_check CHECK (
        CASE status::text
            WHEN 'pending_payment' THEN payment_due_by IS NOT NULL AND payment_token IS NOT NULL
            WHEN 'payment_failed' THEN payment_failure IS NOT NULL AND payment_due_by IS NULL
            ELSE payment_authorization IS NOT NULL AND payment_due_by IS NULL AND payment_failure IS NULL
        END);

CREATE UNIQUE INDEX orders_checkout_key_idx ON orders (checkout_owner, idempotency_key) WHERE payment_failure IS NULL;
CREATE INDEX orders_payment_due_idx ON orders (payment_due_by) WHERE payment_due_by IS NOT NULL;
