-- A stock change could never update its variant in place (a HOT update): this index's predicate names
-- stock_on_hand, so every change wrote a new entry into each of the variant's seven indexes. The
-- in-stock filter finds a product's variants just as well by the (product_id, size, colour) index.
DROP INDEX variants_in_stock_idx;
-- Room on every page for a variant's next version beside the current one, which an in-place update
-- needs. Pages written before this gain it as their rows change.
ALTER TABLE variants SET (fillfactor = 80);
