/**
 * The facts of the API's endpoint the export relies on (../shared/api: the vendor's page), in
 * one place: the client, the page-size policy, the settings' help, the manifest and the sandbox
 * read them from here.
 */

/** The endpoint under the base URL that lists the eSIMs. */
export const LIST_PATH = '/esim/sim-registries';
/** The API's documented default `count`: what `auto` falls back to. */
export const DOCUMENTED_PAGE_SIZE = 100;
/** The largest `count` we ask for: what `auto` tries first (SPEC.md, "Page size auto"). */
export const MAX_PAGE_SIZE = 1000;
