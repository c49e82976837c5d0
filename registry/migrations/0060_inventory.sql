-- Vaccine inventory (package inventory): lots per clinic, the ledger of
-- every change to their stock, the administered doses drawn from them,
-- par levels and the monthly physical counts. A clinic is a facility id
-- (MSH-4, accounts organizations.facility_id).

-- A clinic keeps inventory from started_on: administered doses of that
-- date or later decrement its lots; earlier ones never do.
CREATE TABLE inventory_clinics (
    clinic     text PRIMARY KEY,
    started_on date NOT NULL DEFAULT current_date
);

-- A lot a clinic holds. on_hand is the maintained balance (doses): the sum
-- of the lot's inventory_transactions.quantity, changed only under the
-- lot's row lock, never below zero.
CREATE TABLE inventory_lots (
    id         bigserial PRIMARY KEY,
    clinic     text NOT NULL REFERENCES inventory_clinics(clinic),
    cvx        text NOT NULL DEFAULT '',
    ndc        text NOT NULL DEFAULT '',
    mvx        text NOT NULL DEFAULT '',
    lot_number text NOT NULL,
    lot_key    text NOT NULL, -- lot_number in capitals without spaces or dashes: what doses match on
    expires_on date,
    funding    text NOT NULL CHECK (funding IN ('VFC', '317', 'state', 'private')),
    on_hand    int NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic, lot_key, cvx, ndc, funding)
);
CREATE INDEX inventory_lots_expiry ON inventory_lots (clinic, expires_on) WHERE on_hand > 0;

-- A lot text a coordinator mapped to a lot (resolving an unmatched dose):
-- later doses with it match that lot.
CREATE TABLE inventory_lot_aliases (
    clinic  text NOT NULL,
    lot_key text NOT NULL,
    lot_id  bigint NOT NULL REFERENCES inventory_lots(id),
    PRIMARY KEY (clinic, lot_key)
);

-- The ledger: one row per change of a lot's stock.
CREATE TABLE inventory_transactions (
    id          bigserial PRIMARY KEY,
    clinic      text NOT NULL,
    lot_id      bigint NOT NULL REFERENCES inventory_lots(id),
    kind        text NOT NULL CHECK (kind IN ('receipt', 'transfer_out', 'transfer_in', 'wastage', 'return',
                                              'adjustment', 'administered', 'reversal')),
    quantity    int NOT NULL,          -- the change of on_hand, in doses
    shortfall   int NOT NULL DEFAULT 0, -- administered beyond the stock
    reason      text NOT NULL DEFAULT '',
    counterpart bigint,                -- a transfer's other side
    source_vaccination_id bigint,      -- administered, reversal: the dose
    count_id    bigint,                -- adjustment: the physical count
    occurred_on date NOT NULL DEFAULT current_date,
    actor       text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_transactions_lot ON inventory_transactions (lot_id, id);
CREATE INDEX inventory_transactions_clinic ON inventory_transactions (clinic, occurred_on, kind);

-- One row per administered dose of an inventory clinic (a standing,
-- administered source_vaccinations row): the lot it drew from (null:
-- unmatched, on the coordinator's list), the doses taken from stock and
-- the shortfall. active is false once the clinic deleted or corrected it
-- (the taken doses went back to the lot).
CREATE TABLE inventory_doses (
    source_vaccination_id bigint PRIMARY KEY,
    clinic          text NOT NULL,
    patient_id      bigint NOT NULL,
    administered_on date,
    cvx             text NOT NULL DEFAULT '',
    ndc             text NOT NULL DEFAULT '',
    mvx             text NOT NULL DEFAULT '',
    lot             text NOT NULL DEFAULT '',
    funding         text NOT NULL DEFAULT '', -- OBX 30963-3 as sent
    eligibility     text NOT NULL DEFAULT '', -- OBX 64994-7 as sent
    lot_id          bigint REFERENCES inventory_lots(id),
    taken           int NOT NULL DEFAULT 0,
    shortfall       int NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_doses_unmatched ON inventory_doses (clinic, administered_on) WHERE lot_id IS NULL AND active;
CREATE INDEX inventory_doses_clinic ON inventory_doses (clinic, administered_on) WHERE active;

-- Par level: the stock of a vaccine (CVX) a clinic wants on hand.
CREATE TABLE inventory_par (
    clinic text NOT NULL REFERENCES inventory_clinics(clinic),
    cvx    text NOT NULL,
    par    int NOT NULL CHECK (par >= 0),
    PRIMARY KEY (clinic, cvx)
);

-- A monthly physical count; each line whose count differs from the stock
-- is reconciled by an adjustment transaction (count_id) with its reason.
CREATE TABLE inventory_counts (
    id         bigserial PRIMARY KEY,
    clinic     text NOT NULL REFERENCES inventory_clinics(clinic),
    counted_on date NOT NULL,
    actor      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE inventory_count_lines (
    count_id bigint NOT NULL REFERENCES inventory_counts(id),
    lot_id   bigint NOT NULL REFERENCES inventory_lots(id),
    expected int NOT NULL,
    counted  int NOT NULL CHECK (counted >= 0),
    reason   text NOT NULL DEFAULT '',
    PRIMARY KEY (count_id, lot_id)
);
