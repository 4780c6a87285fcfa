-- Staff accounts (the shop's administrators), apart from customers. Emails are stored normalised
-- (trimmed, lowercased) by the application; passwords as argon2id PHC strings.
CREATE TABLE staff (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND length(email) <= 254),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
