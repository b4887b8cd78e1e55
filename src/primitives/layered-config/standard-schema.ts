/**
 * The Standard Schema interface (https://standardschema.dev), declared here as the spec
 * allows, so that consulkit's public types do not depend on `@standard-schema/spec`. zod,
 * valibot and arktype schemas implement it.
 *
 * @packageDocumentation
 */

/** A validator that implements Standard Schema v1. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

/** Types of the Standard Schema interface. */
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace StandardSchemaV1 {
  /** The properties a validator exposes under `~standard`. */
  export interface Props<Input = unknown, Output = Input> {
    /** Version of the spec: 1. */
    readonly version: 1;
    /** Library that implements it, e.g. `zod`. */
    readonly vendor: string;
    /** Validates a value, synchronously or not. */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Inferred types, for type-level use only. */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** The outcome of `validate`. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  /** A valid value, possibly transformed (defaults, coercions). */
  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }

  /** Why the value is invalid. */
  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One problem with the value. */
  export interface Issue {
    /** What is wrong. */
    readonly message: string;
    /** Where: keys from the root of the value. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  /** A path segment given as an object. */
  export interface PathSegment {
    readonly key: PropertyKey;
  }

  /** Input and output types of a schema. */
  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }

  /** The output type of a schema. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema['~standard']['types']
  >['output'];
}

/** Turns an issue's path into plain keys (`['db', 'pool']`). */
export function issuePath(issue: StandardSchemaV1.Issue): string[] {
  return (issue.path ?? []).map((segment) =>
    String(typeof segment === 'object' && segment !== null ? segment.key : segment),
  );
}
