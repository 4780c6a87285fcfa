-- What happened to each order's money at the payment provider: its authorisation, the capture, a void,
-- and each refund, in minor units of the order's currency. A refund is recorded pending before the
-- provider is asked, so that refunds at once can never return more than was captured; it is then
-- confirmed with the provider's reference, or removed when the provider refused it. One left pending
-- by a crash (its `pending_until` passed) is finished by the reconciler, which asks again with the
-- same key.
CREATE TYPE payment_kind AS ENUM ('authorization', 'capture', 'void', 'refund');

CREATE TABLE payments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id      uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind          payment_kind NOT NULL,
    amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
    -- The provider's, once it has answered.
    reference     text,
    pending_until timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((reference IS NULL) = (pending_until IS NOT NULL))
);
CREATE INDEX payments_order_idx ON payments (order_id, id);
CREATE INDEX payments_pending_idx ON payments (pending_until) WHERE pending_until IS NOT NULL;

-- The orders before this table: their authorisation, then its capture or its void.
INSERT INTO payments (order_id, kind, amount_minor, reference, created_at)
SELECT id, 'authorization', total_minor, payment_authorization, created_at
FROM orders WHERE payment_authorization IS NOT NULL AND total_minor > 0;
INSERT INTO payments (order_id, kind, amount_minor, reference, created_at)
SELECT id, CASE WHEN status = 'cancelled' THEN 'void' ELSE 'capture' END::payment_kind, total_minor,
       payment_authorization, updated_at
FROM orders
WHERE payment_authorization IS NOT NULL AND total_minor > 0 AND status IN ('paid', 'fulfilled', 'cancelled');
