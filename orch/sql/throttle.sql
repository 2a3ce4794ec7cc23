-- Login rate limiting (orch/gateway/throttle.py): failed logins are the audit
-- log's 'login_failed' rows (actor: the name tried, data.remote: the address),
-- counted over a sliding window in orch_now() time, so every gateway shares
-- the count and tests can move the clock (test_clock) instead of sleeping.

-- name: login_retry_after
-- $1: user name tried, $2: remote address, $3: window seconds, $4: most failures of
-- that name from that address, $5: most failures from that address. Seconds until a
-- login is accepted again (null: accepted now): the $4-th (resp. $5-th) newest failure
-- leaving the window brings the count below the limit.
WITH f AS (
    SELECT a.at, a.actor
      FROM audit a
     WHERE a.action = 'login_failed'
       AND a.at > orch_now() - make_interval(secs => $3::float8)
       AND a.data->>'remote' IS NOT DISTINCT FROM $2::text
)
SELECT extract(epoch FROM greatest(
           (SELECT f.at FROM f WHERE f.actor = $1::text ORDER BY f.at DESC
             OFFSET $4::int - 1 LIMIT 1),
           (SELECT f.at FROM f ORDER BY f.at DESC OFFSET $5::int - 1 LIMIT 1))
       + make_interval(secs => $3::float8) - orch_now())::float8 AS retry_after;

-- name: login_lockout_audit
-- $1: user name tried, $2: remote address, $3: seconds until it may try again
INSERT INTO audit (actor, action, target, data)
VALUES ($1, 'login_locked_out', $1,
        jsonb_build_object('remote', $2::text, 'retry_after_seconds', $3::float8));
