-- Discount codes: a percentage or a fixed amount off the whole cart, or off the lines of a category
-- (and the categories under it) or of a brand; with a minimum subtotal, a validity window, a total
-- usage limit and a per-customer limit. Codes are stored upper-cased, so shoppers may type them in
-- any case. A checkout counts its use of a code at the end of the transaction that records the order,
-- with the code's row locked until the commit, so the usage limits hold however many checkouts race
-- for it; an order whose payment fails gives its use back.
CREATE TABLE discount_codes (
    id                     uuid PRIMARY KEY,
    code                   text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_-]{1,40}$'),
    -- Exactly one of a percentage (hundredths of a percent) and an amount in minor units.
    percent_basis_points   integer CHECK (percent_basis_points BETWEEN 1 AND 10000),
    amount_minor           bigint CHECK (amount_minor > 0),
    -- At most one of a brand and a category; the whole cart without either.
    brand_id               uuid REFERENCES brands (id),
    category_id            uuid REFERENCES categories (id),
    minimum_subtotal_minor bigint NOT NULL DEFAULT 0 CHECK (minimum_subtotal_minor >= 0),
    starts_at              timestamptz NOT NULL DEFAULT now(),
    ends_at                timestamptz,
    usage_limit            integer CHECK (usage_limit >= 1),
    per_customer_limit     integer CHECK (per_customer_limit >= 1),
    times_used             integer NOT NULL DEFAULT 0 CHECK (times_used >= 0),
    active                 boolean NOT NULL DEFAULT true,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((percent_basis_points IS NULL) <> (amount_minor IS NULL)),
    CHECK (brand_id IS NULL OR category_id IS NULL),
    CHECK (ends_at > starts_at)
);

ALTER TABLE orders
    ADD COLUMN discount_code_id uuid REFERENCES discount_codes (id),
    -- A copy of the code as it was redeemed.
    ADD COLUMN discount_code text,
    ADD COLUMN discount_minor bigint NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
    DROP CONSTRAINT orders_total_check,
    ADD CONSTRAINT orders_total_check CHECK (total_minor = subtotal_minor + shipping_minor - discount_minor);
-- A buyer's uses of a code, counted for its per-customer limit.
CREATE INDEX orders_discount_code_email_idx ON orders (discount_code_id, email) WHERE discount_code_id IS NOT NULL;
CREATE INDEX orders_discount_code_customer_idx ON orders (discount_code_id, customer_id) WHERE discount_code_id IS NOT NULL;

-- Each line's share of the order's discount.
ALTER TABLE order_lines
    ADD COLUMN discount_minor bigint NOT NULL DEFAULT 0 CHECK (discount_minor >= 0);
