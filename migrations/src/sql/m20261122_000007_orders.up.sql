-- Orders, made by checkout in one transaction with the stock they reserve and the outbox event that
-- tells the worker about them. Prices, names and the shipping address are copied into the order, so
-- it reads the same whatever later happens to the catalogue or the address book.
CREATE SEQUENCE order_numbers;

CREATE TABLE orders (
    id                    uuid PRIMARY KEY,
    -- Shown as MC-000123.
    number                bigint NOT NULL UNIQUE DEFAULT nextval('order_numbers'),
    customer_id           uuid REFERENCES customers (id) ON DELETE SET NULL,
    email                 text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) <= 254),
    status                text NOT NULL CHECK (status IN ('placed', 'paid', 'fulfilled', 'cancelled')),
    currency              char(3) NOT NULL,
    subtotal_minor        bigint NOT NULL CHECK (subtotal_minor >= 0),
    total_minor           bigint NOT NULL CHECK (total_minor >= 0),
    shipping_address      jsonb NOT NULL,
    payment_authorization text NOT NULL,
    -- Who checked out (a customer or a guest session) and the key they sent: one order per pair.
    checkout_owner        text NOT NULL,
    idempotency_key       text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 100),
    -- What was in the cart, so that a reused key with another cart is told apart from a retry.
    cart_fingerprint      text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (checkout_owner, idempotency_key)
);
ALTER SEQUENCE order_numbers OWNED BY orders.number;
CREATE INDEX orders_customer_number_idx ON orders (customer_id, number DESC) WHERE customer_id IS NOT NULL;

CREATE TABLE order_lines (
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    variant_id       uuid NOT NULL REFERENCES variants (id),
    sku              text NOT NULL,
    product_name     text NOT NULL,
    size             text NOT NULL,
    colour           text NOT NULL,
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    PRIMARY KEY (order_id, position)
);

-- Events written in the transaction of the change they announce; the worker relays them to a Redis
-- stream and marks them relayed.
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type  text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz
);
CREATE INDEX outbox_unrelayed_idx ON outbox (id) WHERE relayed_at IS NULL;
