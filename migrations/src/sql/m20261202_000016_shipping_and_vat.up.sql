-- Shipping and VAT. Countries are grouped into shipping zones (a country in one zone at most; the one
-- rest-of-the-world zone serves every country no zone lists), each zone has the methods that ship to
-- it, and the VAT table holds the standard rate of each country whose VAT the shop charges (the EU's;
-- elsewhere none). Staff edit all three. Prices include VAT: an order records, per line and for
-- shipping, the rate of its destination and the VAT in the amount, and its total is its lines plus
-- shipping.
CREATE TABLE shipping_zones (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    rest_of_world boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX shipping_zones_one_rest_of_world_idx ON shipping_zones (rest_of_world) WHERE rest_of_world;

CREATE TABLE shipping_zone_countries (
    country char(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    zone_id uuid NOT NULL REFERENCES shipping_zones (id) ON DELETE CASCADE
);
CREATE INDEX shipping_zone_countries_zone_idx ON shipping_zone_countries (zone_id);

CREATE TABLE shipping_methods (
    id               uuid PRIMARY KEY,
    zone_id          uuid NOT NULL REFERENCES shipping_zones (id),
    name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    price_minor      bigint NOT NULL CHECK (price_minor >= 0),
    -- Shipping is free for lines worth at least this much.
    free_from_minor  bigint CHECK (free_from_minor >= 0),
    min_days         integer NOT NULL CHECK (min_days BETWEEN 0 AND 365),
    max_days         integer NOT NULL CHECK (max_days BETWEEN min_days AND 365),
    -- A method no longer offered stays for the orders that name it.
    active           boolean NOT NULL DEFAULT true
);
CREATE INDEX shipping_methods_zone_idx ON shipping_methods (zone_id);

CREATE TABLE vat_rates (
    country     char(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    -- Hundredths of a percent: 25.5 % is 2550.
    basis_points integer NOT NULL CHECK (basis_points BETWEEN 0 AND 10000)
);

-- The EU member states' standard rates as of 2026.
INSERT INTO vat_rates (country, basis_points) VALUES
    ('AT', 2000), ('BE', 2100), ('BG', 2000), ('CY', 1900), ('CZ', 2100), ('DE', 1900), ('DK', 2500),
    ('EE', 2400), ('ES', 2100), ('FI', 2550), ('FR', 2000), ('GR', 2400), ('HR', 2500), ('HU', 2700),
    ('IE', 2300), ('IT', 2200), ('LT', 2100), ('LU', 1700), ('LV', 2100), ('MT', 1800), ('NL', 2100),
    ('PL', 2300), ('PT', 2300), ('RO', 2100), ('SE', 2500), ('SI', 2200), ('SK', 2300);

-- A shop shipping from France: domestic standard and express, EU standard, the rest of the world.
INSERT INTO shipping_zones (id, name, rest_of_world) VALUES
    ('01938a00-0000-7000-8000-000000000001', 'France', false),
    ('01938a00-0000-7000-8000-000000000002', 'European Union', false),
    ('01938a00-0000-7000-8000-000000000003', 'Rest of the world', true);
INSERT INTO shipping_zone_countries (country, zone_id)
SELECT country, CASE country WHEN 'FR' THEN '01938a00-0000-7000-8000-000000000001'::uuid
                             ELSE '01938a00-0000-7000-8000-000000000002'::uuid END
FROM vat_rates;
INSERT INTO shipping_methods (id, zone_id, name, price_minor, free_from_minor, min_days, max_days) VALUES
    ('01938a00-0000-7000-8000-000000000011', '01938a00-0000-7000-8000-000000000001', 'Standard', 490, 5000, 2, 3),
    ('01938a00-0000-7000-8000-000000000012', '01938a00-0000-7000-8000-000000000001', 'Express', 990, NULL, 1, 1),
    ('01938a00-0000-7000-8000-000000000021', '01938a00-0000-7000-8000-000000000002', 'Standard', 990, 10000, 3, 6),
    ('01938a00-0000-7000-8000-000000000031', '01938a00-0000-7000-8000-000000000003', 'International', 1990, NULL, 5, 12);

-- Orders from before shipping was charged carry none, and no VAT breakdown (zeros). The order's VAT is
-- its lines' and its shipping's.
ALTER TABLE orders
    ADD COLUMN shipping_method_id uuid REFERENCES shipping_methods (id),
    ADD COLUMN shipping_method text,
    ADD COLUMN shipping_minor bigint NOT NULL DEFAULT 0 CHECK (shipping_minor >= 0),
    ADD COLUMN shipping_vat_basis_points integer NOT NULL DEFAULT 0 CHECK (shipping_vat_basis_points BETWEEN 0 AND 10000),
    ADD COLUMN shipping_vat_minor bigint NOT NULL DEFAULT 0 CHECK (shipping_vat_minor BETWEEN 0 AND shipping_minor),
    ADD COLUMN vat_minor bigint NOT NULL DEFAULT 0 CHECK (vat_minor BETWEEN 0 AND total_minor),
    ADD CONSTRAINT orders_total_check CHECK (total_minor = subtotal_minor + shipping_minor);

ALTER TABLE order_lines
    ADD COLUMN vat_basis_points integer NOT NULL DEFAULT 0 CHECK (vat_basis_points BETWEEN 0 AND 10000),
    ADD COLUMN vat_minor bigint NOT NULL DEFAULT 0 CHECK (vat_minor >= 0);
