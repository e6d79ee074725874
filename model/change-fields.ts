/**
 * The change fields: what the CI step that built a release knows about it before it is deployed.
 *
 * These names are a public contract. They are the fields of the "Deployment Change Summary" event
 * (events/emitted.ts), the canonical columns that `deploy-guard import` maps a user's history onto,
 * and the change source of the model's feature schema. Defined here once; everything else imports it.
 */
export const CHANGE_FIELDS = [
  { name: 'commits', kind: 'count', description: 'commits in the release since the previous deployment' },
  { name: 'filesAdded', kind: 'count', description: 'files added' },
  { name: 'filesDeleted', kind: 'count', description: 'files deleted' },
  { name: 'filesModified', kind: 'count', description: 'files modified' },
  { name: 'linesAdded', kind: 'count', description: 'lines added' },
  { name: 'linesDeleted', kind: 'count', description: 'lines deleted' },
  { name: 'srcChurn', kind: 'count', description: 'lines changed in source files' },
  { name: 'testChurn', kind: 'count', description: 'lines changed in test files' },
  { name: 'testFilesChanged', kind: 'count', description: 'test files changed' },
  { name: 'docFilesChanged', kind: 'count', description: 'documentation files changed' },
  { name: 'configFilesChanged', kind: 'count', description: 'configuration / build files changed' },
  { name: 'otherFilesChanged', kind: 'count', description: 'other files changed' },
  { name: 'distinctAuthors', kind: 'count', description: 'distinct commit authors' },
  { name: 'authorIsCoreMember', kind: 'boolean', description: 'the author is a core team member' },
  { name: 'authorExperience', kind: 'count', description: "the author's previous commits to the repository" },
  { name: 'isPullRequest', kind: 'boolean', description: 'built from a pull request' },
  { name: 'isMainBranch', kind: 'boolean', description: 'built from the main branch' },
  { name: 'commitsOnTouchedFiles', kind: 'count', description: 'earlier commits on the files this change touches' },
] as const;

export type ChangeFieldName = (typeof CHANGE_FIELDS)[number]['name'];

export const CHANGE_FIELD_NAMES: readonly ChangeFieldName[] = CHANGE_FIELDS.map((field) => field.name);

/** A change summary: every field optional; a field that is absent is a missing value, never a zero. */
export type ChangeFields = Partial<Record<ChangeFieldName, number>>;
