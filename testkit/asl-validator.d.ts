// asl-validator 4 ships JavaScript only (`module.exports = function validator(...)`): its shape, from its src/validator.ts.
declare module 'asl-validator' {
  interface ValidationOptions {
    readonly checkPaths: boolean;
    readonly checkArn: boolean;
  }
  interface ValidationResult {
    isValid: boolean;
    /** Ajv schema errors and the validator's own `{ "Error code", Message }` errors. */
    errors: Array<Record<string, unknown>>;
    errorsText: (separator?: string) => string;
  }
  /** Note: it mutates the definition (sets QueryLanguage on each state); pass a copy. */
  function validator(definition: unknown, options?: ValidationOptions): ValidationResult;
  export = validator;
}
