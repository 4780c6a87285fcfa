-- The local mail sink: messages the worker sends (order confirmations, low-stock notices), one row per
-- message. The key says what a message is about, so that an event handled twice sends it once.
CREATE TABLE mail (
    key        text PRIMARY KEY,
    recipient  text NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
