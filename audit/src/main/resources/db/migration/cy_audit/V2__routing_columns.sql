-- What routing decided for a call: the model alias the request named (empty model_id: default)
-- and the backend that served it. The model column holds the model id forwarded to the sidecar.
-- Added to the partitioned parent, so every partition, existing or future, has them.
ALTER TABLE cy_audit.audit_event
    ADD COLUMN alias   text,
    ADD COLUMN backend text;
