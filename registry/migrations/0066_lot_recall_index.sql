-- Lot recall (registry.LotRecall, docs/inventory-ordering.md) finds the
-- doses of a lot by its key: the lot number in capitals without spaces,
-- dashes, dots, slashes or tabs. This index makes that a lookup instead of
-- a read of every dose. It is partial: doses without a lot number (most
-- historical doses) are not in it, and cost nothing to store.
CREATE INDEX source_vaccinations_lot_key ON source_vaccinations ((translate(upper(lot), ' -./' || chr(9), '')))
    WHERE lot <> '';
