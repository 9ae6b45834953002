// Package internalapi is latchkey's control surface, /_latchkey/ on the
// HTTPS listener (PRODUCT.md §8): what a test suite or an operator needs
// beside the cloud APIs themselves. Every route needs the header
// "Authorization: Bearer <token>" with the token of DATA_DIR/admin.token;
// bodies are JSON (a fleet file is YAML) and so are answers.
//
//	GET    /_latchkey/health                 store reachable, version, uptime
//	GET    /_latchkey/version                version and the API versions served
//	POST   /_latchkey/reset                  {"fleet":"empty"|"demo"}: wipe all state but the root key
//	GET    /_latchkey/fleet/demo             the demo fleet as a fleet file
//	POST   /_latchkey/fleet                  apply a fleet file (YAML); idempotent
//	GET    /_latchkey/resources              list resources (?kind= &account= &region=)
//	GET    /_latchkey/resources/{ref...}     inspect one resource, secrets redacted
//	POST   /_latchkey/check-password         {"resource","password",…} → {"match":bool}
//	GET    /_latchkey/accounts               account state of every account
//	GET    /_latchkey/accounts/{id}          one account's state
//	PATCH  /_latchkey/accounts/{id}          {"services":{"ehpc":false},"in_debt":true}
//	GET    /_latchkey/faults                 fault rules
//	POST   /_latchkey/faults                 add a fault rule
//	DELETE /_latchkey/faults                 clear rules (?product= &resource=)
//	DELETE /_latchkey/faults/{id}            remove one rule
//	GET    /_latchkey/transitions            transition interval and pending transitions
//	PUT    /_latchkey/transitions            {"interval":"0s"}
//	POST   /_latchkey/transitions/settle     complete every pending transition now
//	GET    /_latchkey/audit                  audit log (?resource= &account= &user= &access_key_id= &since= &until= &limit=)
//	GET    /_latchkey/debug/pprof/…          Go's runtime profiles, only with latchkey serve --pprof
//
// Answers never hold a password, a secret key, a sealed value, a hash, a
// console ticket or an Authorization header: inspection redacts them, and
// a password check answers only whether the password matches. The calls
// that change state (reset, fleet, accounts, faults, transitions) and the
// password checks are audited as product "latchkey".
package internalapi
