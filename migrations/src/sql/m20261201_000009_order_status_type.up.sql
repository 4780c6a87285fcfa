-- An order's status as a type of its own, so that no other value can be stored or compared with it.
CREATE TYPE order_status AS ENUM ('placed', 'paid', 'fulfilled', 'cancelled');

ALTER TABLE orders
    DROP CONSTRAINT orders_status_check,
    ALTER COLUMN status TYPE order_status USING status::order_status;
