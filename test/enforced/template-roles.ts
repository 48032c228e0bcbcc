/**
 * The IAM roles of a synthesized template, with their trust policy and permission policies as CloudFormation would
 * deploy them in one account and region: every intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select,
 * Fn::Split) resolved to a concrete value.
 */

/** A policy document, resolved. */
export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export interface TemplateRole {
  /** Logical id in the template. */
  readonly logicalId: string;
  /** The role's name: its RoleName, else the logical id (CloudFormation would add a suffix). */
  readonly roleName: string;
  readonly arn: string;
  readonly trustPolicy: PolicyDocument;
  /** Inline policies by name: the role's own and every AWS::IAM::Policy attached to it. */
  readonly policies: Readonly<Record<string, PolicyDocument>>;
}

/** Where the template is deployed. */
export interface Deployment {
  readonly accountId: string;
  readonly region: string;
  readonly partition?: string;
  /** Values of the template's CloudFormation parameters. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Prefix of the physical name of a resource the template does not name (CloudFormation derives one). */
  readonly namePrefix?: string;
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface TemplateJson {
  readonly Resources: Record<string, Resource>;
}

export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

/** Resolves the intrinsics of `value` for `deployment`; throws on one it does not know, so nothing is guessed. */
export function resolveIntrinsics(template: TemplateJson, deployment: Deployment, value: unknown): unknown {
  const partition = deployment.partition ?? 'aws';
  const { accountId, region } = deployment;
  const pseudo: Record<string, string> = {
    'AWS::Partition': partition,
    'AWS::AccountId': accountId,
    'AWS::Region': region,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'KeyWarden',
  };
  const resource = (id: string): Resource => {
    const found = template.Resources[id];
    if (found === undefined) throw new UnresolvableError(`no resource ${id}`);
    return found;
  };
  const nameOf = (id: string): string => {
    const { Type, Properties = {} } = resource(id);
    const property = {
      'AWS::IAM::Role': 'RoleName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::IAM::User': 'UserName',
    }[Type];
    const named = property === undefined ? undefined : Properties[property];
    return named === undefined ? `${deployment.namePrefix ?? ''}${id}` : String(resolve(named));
  };
  const arnOf = (id: string): string => {
    const { Type, Properties = {} } = resource(id);
    switch (Type) {
      case 'AWS::IAM::Role':
        return `arn:${partition}:iam::${accountId}:role/${nameOf(id)}`;
      case 'AWS::Logs::LogGroup':
        return `arn:${partition}:logs:${region}:${accountId}:log-group:${String(resolve(Properties.LogGroupName ?? id))}:*`;
      case 'AWS::SQS::Queue':
        return `arn:${partition}:sqs:${region}:${accountId}:${nameOf(id)}`;
      case 'AWS::SNS::Topic':
        return `arn:${partition}:sns:${region}:${accountId}:${id}`;
      case 'AWS::Events::EventBus':
        return `arn:${partition}:events:${region}:${accountId}:event-bus/${String(resolve(Properties.Name))}`;
      case 'AWS::Lambda::Function':
        return `arn:${partition}:lambda:${region}:${accountId}:function:${id}`;
      case 'AWS::DynamoDB::Table':
        return `arn:${partition}:dynamodb:${region}:${accountId}:table/${nameOf(id)}`;
      case 'AWS::IAM::User':
        return `arn:${partition}:iam::${accountId}:user/${nameOf(id)}`;
      default:
        throw new UnresolvableError(`no ARN for ${Type} ${id}`);
    }
  };
  const ref = (name: string): string => {
    if (name in pseudo) return pseudo[name] as string;
    const parameter = deployment.parameters?.[name];
    if (parameter !== undefined) return parameter;
    const { Type } = resource(name);
    if (Type === 'AWS::SQS::Queue') return `https://sqs.${region}.amazonaws.com/${accountId}/${nameOf(name)}`;
    if (Type === 'AWS::SNS::Topic') return arnOf(name);
    return nameOf(name);
  };
  function resolve(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(resolve);
    if (typeof node !== 'object' || node === null) return node;
    const entries = Object.entries(node);
    const [key, argument] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
      switch (key) {
        case 'Ref':
          return ref(String(argument));
        case 'Fn::GetAtt': {
          const [id, attribute] = argument as [string, string];
          if (attribute === 'Arn') return arnOf(id);
          throw new UnresolvableError(`Fn::GetAtt ${id}.${attribute}`);
        }
        case 'Fn::Join': {
          const [separator, parts] = argument as [string, unknown[]];
          return (resolve(parts) as unknown[]).map(String).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = argument as [number, unknown];
          return (resolve(list) as unknown[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, text] = argument as [string, unknown];
          return String(resolve(text)).split(separator);
        }
        case 'Fn::Sub': {
          const [text, variables = {}] = (typeof argument === 'string' ? [argument] : argument) as [
            string,
            Record<string, unknown>?,
          ];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name in variables) return String(resolve(variables[name]));
            const [id, attribute] = name.split('.');
            if (attribute === 'Arn') return arnOf(id as string);
            return ref(name);
          });
        }
        default:
          throw new UnresolvableError(`intrinsic ${key}`);
      }
    }
    return Object.fromEntries(entries.map(([name, child]) => [name, resolve(child)]));
  }
  return resolve(value);
}

/** Every AWS::IAM::Role of `template` with its policies, resolved for `deployment`. */
export function templateRoles(template: TemplateJson, deployment: Deployment): TemplateRole[] {
  const resolve = <T>(value: unknown): T => resolveIntrinsics(template, deployment, value) as T;
  const attached = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Policy');
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .map(([logicalId, role]) => {
      const properties = role.Properties ?? {};
      if (properties.ManagedPolicyArns !== undefined) {
        throw new UnresolvableError(`${logicalId} has managed policies, which are not read here`);
      }
      const policies: Record<string, PolicyDocument> = {};
      for (const inline of (properties.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[]) {
        policies[inline.PolicyName] = resolve(inline.PolicyDocument);
      }
      for (const [policyId, policy] of attached) {
        const roles = (policy.Properties?.Roles ?? []) as unknown[];
        if (roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: logicalId }))) {
          policies[String(resolve(policy.Properties?.PolicyName ?? policyId))] = resolve(
            policy.Properties?.PolicyDocument,
          );
        }
      }
      const roleName =
        properties.RoleName === undefined
          ? `${deployment.namePrefix ?? ''}${logicalId}`
          : String(resolve(properties.RoleName));
      return {
        logicalId,
        roleName,
        arn: `arn:${deployment.partition ?? 'aws'}:iam::${deployment.accountId}:role/${roleName}`,
        trustPolicy: resolve(properties.AssumeRolePolicyDocument),
        policies,
      };
    });
}

/** The actions a statement names, as a list. */
export function actionsOf(statement: PolicyStatement): string[] {
  const { Action } = statement;
  if (Action === undefined) return [];
  return typeof Action === 'string' ? [Action] : [...Action];
}

/** Every action `role` is allowed, sorted and without duplicates. */
export function grantedActions(role: TemplateRole): string[] {
  const actions = Object.values(role.policies).flatMap((policy) =>
    policy.Statement.filter((s) => s.Effect === 'Allow').flatMap(actionsOf),
  );
  return [...new Set(actions)].sort();
}

/** `policy` without `action`: a statement left with no action is dropped. */
export function withoutAction(policy: PolicyDocument, action: string): PolicyDocument {
  const Statement = policy.Statement.flatMap((statement) => {
    const remaining = actionsOf(statement).filter((a) => a !== action);
    if (remaining.length === actionsOf(statement).length) return [statement];
    return remaining.length === 0 ? [] : [{ ...statement, Action: remaining }];
  });
  return { ...policy, Statement };
}

/** The environment variables of each Lambda function, by logical id, resolved. */
export function functionEnvironments(
  template: TemplateJson,
  deployment: Deployment,
): Record<string, Record<string, string>> {
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, r]) => [
        id,
        resolveIntrinsics(template, deployment, r.Properties?.Environment ?? {}) as Record<string, string>,
      ])
      .map(([id, environment]) => [
        id,
        (environment as { Variables?: Record<string, string> }).Variables ?? {},
      ]),
  );
}
