ALTER TABLE order_lines DROP COLUMN vat_minor, DROP COLUMN shipping_vat_basis_points;
ALTER TABLE orders
    DROP CONSTRAINT orders_total_check,
    DROP COLUMN vat_minor,
    DROP COLUMN shipping_vat_minor,
    DROP COLUMN shipping_vat_basis_points,
    DROP COLUMN shipping_minor,
    DROP COLUMN shipping_method,
    DROP COLUMN shipping_method_id;
DROP TABLE vat_rates;
DROP TABLE shipping_methods;
DROP TABLE shipping_zone_countries;
DROP TABLE shipping_zones;
