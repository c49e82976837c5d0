-- Lot recall (registry.LotRecall, docs/inventory-ordering.md) finds the
-- doses of a lot by its key: the lot number in capitals without spaces,
-- dashes, dots, slashes or tabs. This index makes that a lookup instead of
-- a read of every dose. It is partial: doses without a lot number (most
-- historical doses) are not in it and cost nothing to store. Its
-- predicate is on the key, not on lot <> '': a query that filters on
-- lot <> '' (the inventory's dose hook does) must not find this index
-- usable as a scan of every dose with a lot.
CREATE INDEX source_vaccinations_lot_key ON source_vaccinations ((translate(upper(lot), ' -./' || chr(9), '')))
    WHERE translate(upper(lot), ' -./' || chr(9), '') <> '';
-- The planner needs the key's statistics to see that a lot is a few doses
-- (without them it estimates 0.5% of the table and reads all of it).
ANALYZE source_vaccinations;
