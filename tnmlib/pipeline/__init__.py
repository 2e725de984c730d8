"""Pipeline stages, each one ``tnm`` sub-command and one Make rule: subset files
(:mod:`.dataset`, read by :mod:`.reader`), evaluation of a model (:mod:`.evaluate`), and scans
as CSV (:mod:`.scans`)."""
