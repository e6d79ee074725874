/** An IAM policy statement as the constructs take it: explicit actions on explicit resources. */
export interface PolicyStatement {
  readonly sid?: string;
  /** @default 'Allow' */
  readonly effect?: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** The JSON policy document of some statements. */
export function policyDocument(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((statement) => ({
      ...(statement.sid ? { Sid: statement.sid } : {}),
      Effect: statement.effect ?? 'Allow',
      Action: [...statement.actions],
      Resource: [...statement.resources],
      ...(statement.conditions ? { Condition: statement.conditions } : {}),
    })),
  });
}

/** A trust policy letting one AWS service assume a role. */
export function assumeRolePolicy(service: string, conditions?: PolicyStatement['conditions']): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', ...(conditions ? { Condition: conditions } : {}) }],
  });
}

/** Checks a statement list, naming the construct and the statement at fault. */
export function validateStatements(owner: string, statements: readonly PolicyStatement[]): void {
  statements.forEach((statement, index) => {
    if (statement.actions.length === 0) throw new Error(`${owner} statements[${index}] has no actions`);
    if (statement.resources.length === 0) throw new Error(`${owner} statements[${index}] has no resources`);
    for (const action of statement.actions) {
      if (!/^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(action)) throw new Error(`${owner} statements[${index}] action '${action}' is not of the form service:Action`);
    }
  });
}
