ALTER TABLE variants RESET (fillfactor);
CREATE INDEX variants_in_stock_idx ON variants (product_id) WHERE stock_on_hand > 0;
