import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Type-checks the given files (name -> source) as a user's project would, in `dir`: strict, ES
 * modules, `.ts` imports allowed. Resolves the repository's own node_modules for type packages.
 * Returns tsc's diagnostics as `file(line,col): message`, empty when everything compiles.
 */
export function typeCheck(dir: string, files: Record<string, string>): string[] {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const roots = Object.entries(files).map(([name, source]) => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  });
  const program = ts.createProgram(roots, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    typeRoots: [join(REPO, 'node_modules/@types')],
    types: ['node'],
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return message;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName.slice(dir.length + 1)}(${line + 1},${character + 1}): ${message}`;
  });
}
