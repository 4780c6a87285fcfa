ALTER TABLE orders DROP CONSTRAINT orders_payment_check;
ALTER TABLE orders RENAME COLUMN payment_reference TO payment_authorization;
ALTER TABLE orders ADD COLUMN payment_token text;
-- Orders pending now have no token to keep: the constraint holds for the rows written from here on.
ALTER TABLE orders ADD CONSTRAINT orders_payment_check CHECK (
    CASE status::text
        WHEN 'pending_payment' THEN payment_due_by IS NOT NULL AND payment_token IS NOT NULL
        WHEN 'payment_failed' THEN payment_failure IS NOT NULL AND payment_due_by IS NULL
        ELSE payment_authorization IS NOT NULL AND payment_due_by IS NULL AND payment_failure IS NULL
    END) NOT VALID;
