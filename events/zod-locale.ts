import * as z from 'zod/mini';
import { en } from 'zod/locales';

/**
 * zod/mini loads no locale (classic zod registers English on its first schema): without one every
 * issue says only "Invalid input". Imported for its effect by each module that builds zod/mini
 * schemas, so that an event's problems read the same in a Lambda bundle, in tests and in the CLI.
 * English only: the other locales stay out of the bundles (a named import tree-shakes).
 */
z.config(en());
