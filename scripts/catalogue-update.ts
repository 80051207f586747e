// npm run catalogue:update — writes etc/dcgm-field-catalogue.json from lib/fields/dcgm-field-table.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueFromFacts } from '../lib/fields/dcgm-field-table.js';
import { CATALOGUE_FILE, catalogueText } from '../lib/fields/catalogue.js';
import { packageRoot } from '../lib/package-root.js';

const path = join(packageRoot(), CATALOGUE_FILE);
const data = catalogueFromFacts();
writeFileSync(path, catalogueText(data));
console.log(`${path}: ${data.fields.length} fields, ${data.renames.length} renames, ${data.legacy.length} legacy names`);
