DROP INDEX variants_in_stock_idx, variants_price_idx, variants_colour_idx, variants_size_idx,
    products_name_idx, products_price_idx, products_newest_idx, products_search_idx;
DROP TRIGGER variants_refresh_price_from ON variants;
DROP FUNCTION variants_refresh_price_from();
DROP TRIGGER brands_reindex_products ON brands;
DROP FUNCTION brands_reindex_products();
DROP TRIGGER products_search_document ON products;
DROP FUNCTION products_search_document();
ALTER TABLE products DROP COLUMN search, DROP COLUMN price_from_minor;
