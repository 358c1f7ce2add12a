-- The cy-degraded value of a call the alias's degrade policy sent to a fallback or refused,
-- e.g. "fallback; from=gpu-a/qwen2.5-7b; to=cpu-b/qwen2.5-0.5b; reason=no_healthy_sidecar";
-- null when the policy did not apply. Added to the partitioned parent, so every partition has it.
ALTER TABLE cy_audit.audit_event
    ADD COLUMN degraded text;
