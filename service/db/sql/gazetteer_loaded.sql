-- Whether any gazetteer is loaded (postcodes or names).
SELECT EXISTS (SELECT 1 FROM gazetteer_postcodes)
       OR EXISTS (SELECT 1 FROM gazetteer_names) AS loaded
