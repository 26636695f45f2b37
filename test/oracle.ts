/**
 * The tests' own knowledge of the API's item, written from the vendor's page and FACTS.md
 * (../shared/api), not imported from the code: an oracle the code is checked against.
 */

/** The fields of an item, both shapes, in the documented order. */
export const KNOWN_FIELDS = ['iccid', 'sim_status', 'group', 'inventory', 'company', 'provisioned_date', 'terminated_date', 'mapped_imsi', 'imsis', 'created_date', 'modified_date'];
