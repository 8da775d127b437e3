/** JSON Schema validation with ajv (draft-07, all errors reported), shared by policy files and expect.json. */
import AjvModule from 'ajv';

/** One ajv error: JSON Pointer of the value, message, failing keyword and its parameters. */
export interface SchemaError {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** A compiled validator: returns true when valid, else sets `errors`. */
export type Validate = ((d: unknown) => boolean) & { errors?: SchemaError[] | null };

/** Compile `schema` once, on first use (the returned function caches the validator). */
export function lazyValidator(schema: object): () => Validate {
  let v: Validate | undefined;
  return () => {
    if (v === undefined) {
      const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;
      const ajv = new (Ajv as unknown as new (o: object) => { compile(s: unknown): Validate })({ allErrors: true, strict: false });
      v = ajv.compile(schema);
    }
    return v;
  };
}
