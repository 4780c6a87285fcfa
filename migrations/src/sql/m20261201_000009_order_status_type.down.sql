ALTER TABLE orders
    ALTER COLUMN status TYPE text USING status::text,
    ADD CONSTRAINT orders_status_check CHECK (status IN ('placed', 'paid', 'fulfilled', 'cancelled'));

DROP TYPE order_status;
