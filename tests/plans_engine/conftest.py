"""The plans' Done-when runs, each module on a stack of its own settings (its own `stack` fixture): a
package apart from tests/plans, whose shared stack must be gone before one of these starts (moto's
state is per process)."""
