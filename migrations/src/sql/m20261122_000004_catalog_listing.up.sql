-- What `products` lists, filters and sorts on, kept current by triggers so that no writer can forget:
-- a product's lowest variant price (`price_from_minor`, NULL while it has no variants, and then it is not
-- listed) and its full-text search document (name, brand, material, description). An index for every
-- filter and sort.

ALTER TABLE products
    ADD COLUMN price_from_minor bigint,
    ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector;

CREATE FUNCTION products_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search :=
        setweight(to_tsvector('english', NEW.name), 'A') ||
        setweight(to_tsvector('english', coalesce((SELECT name FROM brands WHERE id = NEW.brand_id), '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.material, '')), 'C') ||
        setweight(to_tsvector('english', NEW.description), 'D');
    RETURN NEW;
END
$$;
CREATE TRIGGER products_search_document
    BEFORE INSERT OR UPDATE OF name, description, material, brand_id ON products
    FOR EACH ROW EXECUTE FUNCTION products_search_document();

-- A renamed brand re-indexes its products (setting brand_id fires the trigger above).
CREATE FUNCTION brands_reindex_products() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products SET brand_id = brand_id WHERE brand_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER brands_reindex_products
    AFTER UPDATE OF name ON brands
    FOR EACH ROW EXECUTE FUNCTION brands_reindex_products();

CREATE FUNCTION variants_refresh_price_from() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products p
    SET price_from_minor = (SELECT min(v.price_minor) FROM variants v WHERE v.product_id = p.id)
    WHERE p.id IN (
        SELECT product_id FROM (VALUES (CASE WHEN TG_OP <> 'DELETE' THEN NEW.product_id END),
                                       (CASE WHEN TG_OP <> 'INSERT' THEN OLD.product_id END)) AS changed (product_id)
        WHERE product_id IS NOT NULL
    );
    RETURN NULL;
END
$$;
CREATE TRIGGER variants_refresh_price_from
    AFTER INSERT OR DELETE OR UPDATE OF price_minor, product_id ON variants
    FOR EACH ROW EXECUTE FUNCTION variants_refresh_price_from();

UPDATE products SET brand_id = brand_id;
UPDATE products p SET price_from_minor = (SELECT min(v.price_minor) FROM variants v WHERE v.product_id = p.id);

CREATE INDEX products_search_idx ON products USING gin (search);
CREATE INDEX products_newest_idx ON products (created_at DESC, id DESC) WHERE archived_at IS NULL;
CREATE INDEX products_price_idx ON products (price_from_minor, id) WHERE archived_at IS NULL;
CREATE INDEX products_name_idx ON products (name, id) WHERE archived_at IS NULL;
CREATE INDEX variants_size_idx ON variants (size, product_id);
CREATE INDEX variants_colour_idx ON variants (colour, product_id);
CREATE INDEX variants_price_idx ON variants (price_minor, product_id);
CREATE INDEX variants_in_stock_idx ON variants (product_id) WHERE stock_on_hand > 0;
