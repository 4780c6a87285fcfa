-- Customer accounts and their address books. Emails are stored normalised (trimmed, lowercased) by the
-- application, so one mailbox is one account; passwords as argon2id PHC strings.
CREATE TABLE customers (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND length(email) <= 254),
    password_hash text NOT NULL,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE addresses (
    id                  uuid PRIMARY KEY,
    customer_id         uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name                text NOT NULL,
    line1               text NOT NULL,
    line2               text,
    city                text NOT NULL,
    postal_code         text NOT NULL,
    country             char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone               text,
    is_default_shipping boolean NOT NULL DEFAULT false,
    is_default_billing  boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_customer_id_idx ON addresses (customer_id, created_at);
-- At most one default of each kind per customer.
CREATE UNIQUE INDEX addresses_default_shipping_idx ON addresses (customer_id) WHERE is_default_shipping;
CREATE UNIQUE INDEX addresses_default_billing_idx ON addresses (customer_id) WHERE is_default_billing;
