-- The shop's own settings: exactly one row.
CREATE TABLE shop (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    currency   char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO shop (name, currency) VALUES ('MyClothes', 'EUR');
