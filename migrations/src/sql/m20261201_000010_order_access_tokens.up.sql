-- Each order's access token: 128 random bits that, with the order number, show the order to whoever
-- holds them (the order-status link of the confirmation mail), so that a guest's order is not shown
-- to anyone who merely knows the email it was placed with. Orders placed before get one now (a random
-- UUID's 122 bits).
ALTER TABLE orders ADD COLUMN access_token text;
UPDATE orders SET access_token = replace(gen_random_uuid()::text, '-', '');
ALTER TABLE orders
    ALTER COLUMN access_token SET NOT NULL,
    ADD CONSTRAINT orders_access_token_check CHECK (access_token ~ '^[0-9a-f]{32}$');
