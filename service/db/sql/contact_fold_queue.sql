-- The common table expression that queues new contacts for their hotspot layers' next fold
-- (no leading WITH, no trailing comma): the statement including it defines
-- ``inserted (id, bedded_down)``. The layers are those of
-- service.usecases.hotspots.queue.layers_of_contact: every contact, and the bedded-down ones.
fold AS (
    INSERT INTO hotspot_fold_queue (layer, member_kind, member_id)
    SELECT l.layer, 'contact', n.id
    FROM inserted n
    JOIN (VALUES ('all_contacts', false), ('verified_bedded_down', true)) AS l(layer, bedded_only)
      ON n.bedded_down OR NOT l.bedded_only
    ON CONFLICT DO NOTHING
)
