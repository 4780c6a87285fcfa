-- A checkout opens its payment at the provider, which holds nothing yet, and records the provider's
-- reference on the order before the payment is authorised. A reconciler then asks the provider where
-- that payment stands instead of paying again, so the shopper's payment token is no longer kept.
ALTER TABLE orders DROP CONSTRAINT orders_payment_check;
ALTER TABLE orders DROP COLUMN payment_token;
ALTER TABLE orders RENAME COLUMN payment_authorization TO payment_reference;
ALTER TABLE orders ADD CONSTRAINT orders_payment_check CHECK (
    CASE status::text
        WHEN 'pending_payment' THEN payment_due_by IS NOT NULL
        WHEN 'payment_failed' THEN payment_failure IS NOT NULL AND payment_due_by IS NULL
        ELSE payment_reference IS NOT NULL AND payment_due_by IS NULL AND payment_failure IS NULL
    END);
