-- The catalogue: brands, a category tree, products and their size × colour variants.
-- Keys are UUIDv7 (time-ordered), made by the application. Prices are integer minor units of the
-- shop's currency.

CREATE TABLE brands (
    id   uuid PRIMARY KEY,
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100)
);

-- `path` is the slugs from the root, such as `women/dresses`, so a category and all its descendants
-- are one prefix match.
CREATE TABLE categories (
    id        uuid PRIMARY KEY,
    parent_id uuid REFERENCES categories (id),
    slug      text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    name      text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    path      text NOT NULL UNIQUE,
    position  integer NOT NULL DEFAULT 0
);
CREATE INDEX categories_parent_id_idx ON categories (parent_id);
CREATE INDEX categories_path_prefix_idx ON categories (path text_pattern_ops);

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    brand_id    uuid NOT NULL REFERENCES brands (id),
    category_id uuid NOT NULL REFERENCES categories (id),
    material    text,
    care        text,
    images      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);
CREATE INDEX products_brand_id_idx ON products (brand_id);
CREATE INDEX products_category_id_idx ON products (category_id);

CREATE TABLE variants (
    id               uuid PRIMARY KEY,
    product_id       uuid NOT NULL REFERENCES products (id),
    sku              text NOT NULL UNIQUE CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{2,63}$'),
    size             text NOT NULL CHECK (length(btrim(size)) BETWEEN 1 AND 20),
    colour           text NOT NULL CHECK (length(btrim(colour)) BETWEEN 1 AND 40),
    price_minor      bigint NOT NULL CHECK (price_minor >= 0),
    compare_at_minor bigint CHECK (compare_at_minor >= 0),
    stock_on_hand    integer NOT NULL CHECK (stock_on_hand >= 0),
    position         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, size, colour)
);
