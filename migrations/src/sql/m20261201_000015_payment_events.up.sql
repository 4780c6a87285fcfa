-- The events the payment provider sent (Stripe's webhooks), by their id: each is handled once, however
-- often it is delivered.
CREATE TABLE payment_events (
    id          text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
