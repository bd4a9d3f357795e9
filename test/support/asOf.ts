/**
 * Policy config that judges support windows on the advisory tables' own date, not on the day
 * the suite runs: the tests stay true as the calendar moves, while `npm run plan` (the CI
 * gate) and every preview judge today.
 */
import { ADVISORIES_AS_OF } from "../../lib/advisories";
import { judgedOn } from "../../policies/versions";

export const AS_OF = ADVISORIES_AS_OF;
export const JUDGED_AS_OF = judgedOn(AS_OF);
