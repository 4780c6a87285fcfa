ALTER TABLE order_lines DROP COLUMN discount_minor;
ALTER TABLE orders
    DROP CONSTRAINT orders_total_check,
    ADD CONSTRAINT orders_total_check CHECK (total_minor = subtotal_minor + shipping_minor),
    DROP COLUMN discount_minor,
    DROP COLUMN discount_code,
    DROP COLUMN discount_code_id;
DROP TABLE discount_codes;
