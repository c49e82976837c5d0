-- Vaccine ordering (package ordering): a clinic's orders to the state
-- program and their lines, one per vaccine (CVX). A clinic is a facility
-- id (MSH-4, accounts organizations.facility_id).
--
-- An order is submitted by the clinic's vaccine coordinator, then approved
-- (possibly with changed quantities) or denied by program staff with a
-- reason, and once approved received: its lines become lots of the
-- clinic's inventory (inventory_lots, through inventory's Receive).
CREATE TABLE vaccine_orders (
    id              bigserial PRIMARY KEY,
    clinic          text NOT NULL,
    funding         text NOT NULL CHECK (funding IN ('VFC', '317', 'state')),
    status          text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'approved', 'denied', 'received')),
    note            text NOT NULL DEFAULT '',
    submitted_by    text NOT NULL,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    decided_by      text NOT NULL DEFAULT '',
    decided_at      timestamptz,
    decision_reason text NOT NULL DEFAULT '', -- required for a denial or a changed quantity
    received_by     text NOT NULL DEFAULT '',
    received_at     timestamptz
);
CREATE INDEX vaccine_orders_clinic ON vaccine_orders (clinic, id DESC);
CREATE INDEX vaccine_orders_open ON vaccine_orders (id) WHERE status = 'submitted';

-- An order's line: what the suggestion started from (the doses used in
-- the usage window, the doses on hand, the suggested doses), what the
-- coordinator asked for, what program staff approved, and what arrived.
CREATE TABLE vaccine_order_lines (
    order_id      bigint NOT NULL REFERENCES vaccine_orders(id),
    cvx           text NOT NULL,
    package_doses int NOT NULL CHECK (package_doses > 0),
    used          int NOT NULL DEFAULT 0,
    on_hand       int NOT NULL DEFAULT 0,
    suggested     int NOT NULL DEFAULT 0,
    requested     int NOT NULL CHECK (requested >= 0),
    approved      int CHECK (approved >= 0), -- null until decided
    received      int CHECK (received >= 0),
    PRIMARY KEY (order_id, cvx)
);
