-- Email verification and password reset. A customer's address is verified once they follow the link
-- mailed to it (or reset their password through one). The tokens of those links are stored only as
-- their SHA-256, each used once and valid until `expires_at`; a token's id is the request that made it,
-- so a request handled twice makes one token.
ALTER TABLE customers ADD COLUMN email_verified_at timestamptz;

CREATE TABLE account_tokens (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_tokens_customer_idx ON account_tokens (customer_id, purpose);

-- Delivery of the mail sink's messages by SMTP, when a server is configured: each message is sent once
-- (`sent_at`), a failed one tried again after `next_attempt_at`.
ALTER TABLE mail
    ADD COLUMN sent_at         timestamptz,
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_error      text;
CREATE INDEX mail_unsent_idx ON mail (next_attempt_at) WHERE sent_at IS NULL;
